"""Registered people: registering them (photos, camera frames, a labelled folder), their
names, their samples, the guard on every path that adds faces to someone, and what the
browser shows of them."""
