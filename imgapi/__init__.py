"""imgapi: a command-line client of the image API (`imgapi --help`).

main.py is the commands and their output, client.py finds the API and calls it,
operations.py is every request it makes (checked against openapi.json by a test),
uploads.py sends files, seed.py makes images to send.
"""
