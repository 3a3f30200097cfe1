"""The domain logic: what an upload, a direct upload, a listing, a view and a delete mean.

Independent of HTTP (app/web) and of AWS calls (app/storage): it raises the
domain errors of app/errors.py and works on rows, plain dicts.
"""
