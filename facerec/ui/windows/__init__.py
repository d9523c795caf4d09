"""The windows (OpenCV, on the X display): the live window and guided registration's, with
their keys, banners and help. The frames and what is done with them are the use cases'."""
