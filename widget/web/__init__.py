"""What the surfaces share about HTTP: reading input, shaping output, headers, this server's own URLs.

Surfaces (api, auth, embed, dashboard) import from here and from the services; never from each other.
"""
