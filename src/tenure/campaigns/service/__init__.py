"""The campaign rules: documents, enrolment, journeys, the outbox, contacts, tracking."""
