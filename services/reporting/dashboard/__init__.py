"""Static files of the dashboard page (served by the reporting API at /dashboard/); no Python here."""
