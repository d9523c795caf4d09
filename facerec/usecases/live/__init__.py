"""Real time: recognition on a camera (or a video standing in for one) and guided
registration from it; the per-frame logic, not the window (see `facerec.ui.windows`)."""
