"""Nesting comments for display: pure functions over plain rows."""


def build_tree(rows, max_depth):
    """Nest comment dicts by parent_id, oldest reply first under each parent, in one pass.

    `rows` are dicts with id, parent_id, depth and author name, ordered so that a
    parent comes before its replies (creation order does this). A reply deeper than
    `max_depth` is placed at the deepest level under its nearest ancestor there, and
    carries `in_reply_to` naming the comment and author it answers, so nothing is lost.
    Returns the top-level dicts, each with a `replies` list.
    """
    by_id: dict[int, dict] = {}
    # Where a comment's too-deep replies go: itself above the deepest level, else where its own parent's go.
    host: dict[int, dict] = {}
    top = []
    for row in rows:
        node = dict(row, replies=[], in_reply_to=None)
        by_id[node["id"]] = node
        parent = by_id.get(node["parent_id"])
        host[node["id"]] = node if node["depth"] < max_depth or parent is None else host[parent["id"]]
        if node["parent_id"] is None:
            top.append(node)
            continue
        if parent is None:
            # Its parent is not on this page or is hidden from this reader.
            continue
        if node["depth"] > max_depth:
            node["in_reply_to"] = {"id": parent["id"], "author": parent["author"]["name"]}
            parent = host[parent["id"]]
        parent["replies"].append(node)
    return top


def prune_deleted(nodes, keep=frozenset()):
    """Drop deleted placeholders that hold no visible reply, at every level.

    Under a top-level comment whose id is in `keep`, nothing is dropped: more of its replies are
    still to come, and a placeholder may be the parent they need.
    """
    kept = []
    for node in nodes:
        if node["id"] in keep:
            kept.append(node)
            continue
        node["replies"] = prune_deleted(node["replies"])
        if node["status"] != "deleted" or node["replies"]:
            kept.append(node)
    return kept
