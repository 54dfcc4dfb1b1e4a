"""The app's own routes, one router per concern: ask, feedback, admin, health, pages and
the widget. Each turns HTTP into one engine or log call and back."""
