"""The domain: records without AWS, statuses and their fold, family rules, and the ports
(Protocols) the use cases talk to."""
