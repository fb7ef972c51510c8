"""The self-service enrolment kiosk.

It owns the resident's flow (language, data, documents, attendant approval, photo, review),
the programme rules engine, the personalisation job with its durable journal, and the promise
that nothing personal about a resident stays on disk once the card is made.
"""
