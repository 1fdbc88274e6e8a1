"""Exit codes beyond pytest's own (0 passed, 1 case failures, 2 interrupted, 3 internal error,
4 usage error, 5 nothing collected); README "Exit codes"."""

EXIT_TARGET_UNUSABLE = 6  # the gateway under test could not be started or reached
EXIT_NOTHING_RAN = 7  # fewer handshake cases ran than --min-cases (default 1)
EXIT_NOT_JUDGED = 8  # no case departed, but some could not be judged (outcome `error`)
