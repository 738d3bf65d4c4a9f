"""Serverless Architecture Explorer."""
