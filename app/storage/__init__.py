"""The storage adapter: the only package that talks to S3 and DynamoDB.

store.py    ImageStore: objects and rows, as app/layout.py lays them out
dynamo.py   rows to and from DynamoDB items; time-ordered queries
clients.py  the boto3 clients, one of each per execution environment
"""

from app.storage.clients import dynamodb_client, presign_client, reset_clients, s3_client
from app.storage.dynamo import TimeQuery, from_item, to_item
from app.storage.store import ContentTakenError, ImageStore

__all__ = [
    "ContentTakenError",
    "ImageStore",
    "TimeQuery",
    "dynamodb_client",
    "from_item",
    "presign_client",
    "reset_clients",
    "s3_client",
    "to_item",
]
