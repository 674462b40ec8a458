"""The customer's status page and API (part F): reference number + last four digits of the phone."""
