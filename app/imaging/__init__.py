"""Pixel work with Pillow: what an image costs to decode (limits.py), and decoding it (decode.py).

Imported only where an image is processed, so that routes that only read
metadata keep their cold start.
"""
