"""Pages of 高效办成一件事: the service guide and applying (guide), the applicant's applications, the department
inbox, list management and the standing promotion."""
