"""The storage adapter: the only package that talks to S3 and DynamoDB.

store.py      ImageStore: objects and rows, as app/layout.py lays them out
claims.py     RequestClaims: the image id each keyed request makes
inventory.py  every object and every row, for maintenance (ImageStore has them as methods)
shards.py     several index partitions merged into one time-ordered page
dynamo.py     rows to and from DynamoDB items; time-ordered queries
clients.py    the boto3 clients, one of each per execution environment; calls run at once
"""

from app.storage import shards
from app.storage.claims import RequestClaims
from app.storage.clients import (
    dynamodb_client,
    in_parallel,
    operations_at_once,
    outcomes,
    presign_client,
    reset_clients,
    s3_client,
)
from app.storage.dynamo import TimeQuery, from_item, to_item
from app.storage.store import ContentTakenError, ImageStore, RowExistsError, url_stays_for

__all__ = [
    "ContentTakenError",
    "ImageStore",
    "RequestClaims",
    "RowExistsError",
    "TimeQuery",
    "dynamodb_client",
    "from_item",
    "in_parallel",
    "operations_at_once",
    "outcomes",
    "presign_client",
    "reset_clients",
    "s3_client",
    "shards",
    "to_item",
    "url_stays_for",
]
