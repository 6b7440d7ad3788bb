"""Tracking state in DynamoDB: PynamoDB models and the one repository that talks to it."""
