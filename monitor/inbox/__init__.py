"""The inbox: a work queue of the conversations a brand should answer (rules, and the stage that fills it)."""
