"""The REST layer under /api: JSON in and out, errors as {"error": {code, message}}."""
