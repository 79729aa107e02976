"""A deterministic sample publisher: a home's landing files (migration load, daily files, planted bad rows).

``generate(home, customers, seed, start, end, cutover=None)`` simulates a fictional publisher — a
monthly print magazine and its digital edition, a print + digital bundle, a monthly book
continuity series, gold/silver/bronze memberships and a tote bag, sold in USD, EUR, GBP and CAD —
and delivers its history the way a publisher moving onto the system would: one migration file per
feed on the cut-over date, then daily files. About 1 row in 200 of the transactional feeds is an
extra bad row breaking exactly one contract rule; the ground truth is ``<home>/generator/bad_rows.csv``.
"""

from lifecycle.generator.publisher import generate

__all__ = ["generate"]
