"""The documents of a case (受理通知书, 决定书).

Placeholder for the workbench branch: the docs branch replaces this module with the real one
(`acceptance_notice_pdf`, `decision_pdf`, `check_code`, `documents_for`)."""


def documents_for(case):
    return []
