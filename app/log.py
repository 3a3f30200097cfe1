"""The one Powertools Logger: JSON lines carrying the Lambda and API Gateway request ids."""

from aws_lambda_powertools import Logger

# POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL override these when set.
logger = Logger(service="image-api")
