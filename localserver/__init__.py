"""The same Lambda, served in-process over HTTP, with an embedded S3 and DynamoDB: `python -m localserver`."""
