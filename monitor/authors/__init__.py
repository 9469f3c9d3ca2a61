"""Authors as people across platforms: merge, split and merge suggestions; forget, export and retention.

Every change here recomputes the derived author rows from mentions (monitor.scoring.store), so they
equal a rebuild from scratch afterwards.
"""
