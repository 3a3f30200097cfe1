"""Image API: one Lambda function serving an image store on S3 and DynamoDB."""
