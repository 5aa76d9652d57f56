"""REST API for paging: incidents, services and their integrations, people's contact methods."""
