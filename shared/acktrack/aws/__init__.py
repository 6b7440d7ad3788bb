"""S3 and SES access through clients created once per container."""
