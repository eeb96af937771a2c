"""Client addresses as limits count them: an IPv4 address, or an IPv6 client's /64 and the blocks around it."""
import ipaddress

# One IPv6 client holds a whole /64 and may take a new address from it for every request, so a /64 is
# one client. A customer gets more than one, though: a /56 is a home's usual share, a /48 a business's or
# a hosting customer's, 65,536 /64s. Each /64 keeps its own bucket, and the blocks around it get looser
# ones (this many times a /64's allowance), shared by all their /64s.
WIDER_BLOCKS = ((56, 2), (48, 4))


def client_key(address):
    """What limits count a client by: its IPv4 address (an IPv4-mapped IPv6 one as IPv4), or its IPv6 /64."""
    address = address or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address


def wider_blocks(key):
    """[(prefix length, block, times a /64's allowance)] around a client_key: its IPv6 /56 and /48; none for IPv4."""
    try:
        network = ipaddress.ip_network(key)
    except ValueError:
        return []
    if network.version != 6 or network.prefixlen < max(prefix for prefix, _ in WIDER_BLOCKS):
        return []
    return [(prefix, str(network.supernet(new_prefix=prefix)), factor) for prefix, factor in WIDER_BLOCKS]
