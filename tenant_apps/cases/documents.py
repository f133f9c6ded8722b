"""The documents of a case (受理通知书, 决定书).

Placeholder: the `docs` branch writes this module (PDFs, check codes, `documents_for`) and replaces
this file at merge; the citizen pages only call `documents_for`."""


def documents_for(case):
    return []
