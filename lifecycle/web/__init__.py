"""The ops download page (``lifecycle serve``): the home's export files behind a login, every download recorded.

Operations fetch the night's files here to hand them to mailing houses and printers. The files hold
personal data, so the page serves nothing without a login, nothing outside ``exports/``, and nothing
without first appending who took which bytes to ``state/serve/audit.jsonl``.
"""
