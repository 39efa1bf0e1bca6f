"""Subjective study: `ulvr study make | serve | score`.

make: pairs of methods at matched rate on the same sequence (all pairs, or an active design
that favours uncertain ones), their reconstructions re-decoded and encoded losslessly (VP9) for
the browser, attention checks, and a manifest. serve: a local page and a vote log. score:
Bradley-Terry scores per dataset and rate band (choix).

May import: `benchmark.reporting` and everything below it except `execution`.
"""
