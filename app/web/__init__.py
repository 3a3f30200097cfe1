"""The HTTP edge: routes by concern, request reading, and the one mapping of domain errors to statuses.

resolver.py   the APIGatewayRestResolver: includes the routers, answers every error
images.py     POST /upload, GET /list, GET /view/{id}, DELETE /delete/{id}
uploads.py    POST /uploads, POST /uploads/{id}/complete (direct uploads to S3)
site.py       the gallery page and its assets
requests.py   bodies, multipart forms, JSON, parameters
multipart.py  the strict multipart/form-data parser
openapi.py    the OpenAPI document
"""
