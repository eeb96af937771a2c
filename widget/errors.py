"""Domain failures, each carrying the HTTP status and machine-readable code it maps to."""


class ParleyError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, code=None, status=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class InvalidInput(ParleyError):
    status = 400
    code = "invalid_input"


class NotAllowed(ParleyError):
    status = 403
    code = "forbidden"


class NotFound(ParleyError):
    status = 404
    code = "not_found"


class Conflict(ParleyError):
    status = 409
    code = "conflict"


class TooLarge(ParleyError):
    status = 413
    code = "too_large"


class TooManyAttempts(ParleyError):
    status = 429
    code = "too_many_attempts"
