"""Pydantic models for request and response bodies."""
