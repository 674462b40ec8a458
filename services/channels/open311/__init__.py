"""Open311 GeoReport v2 (part F) under `/open311/v2`."""
