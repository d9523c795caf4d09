"""Measuring accuracy: a labelled folder, the LFW pairs protocol, and `verify` of two
photos."""
