"""Use cases: a file lands (outbound 834, a part of one, inbound acknowledgments and
effectuations) and is tracked, matched or quarantined."""
