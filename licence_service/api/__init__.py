"""The HTTP API and pages: ``app.create_app`` builds the app; ``deps`` holds every caller and
role dependency; ``schemas`` the request and response models; ``routers`` one per resource."""
