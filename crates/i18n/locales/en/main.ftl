# Tandem's user-facing text, English (the fallback language).
# Ids: lowercase words joined by hyphens, prefixed by where they appear (share-, join-, window-,
# consent-, viewer-, …). Every id here must also be in ../fr/ (any file) with the same variables.
# One file per part of Tandem; every .ftl file in this folder is built in.

# Used by the catalogue's own tests (plural selection).
i18n-self-test = { $count ->
    [one] { $count } file
   *[other] { $count } files
}

## The command line (src/main.rs)
cli-error = error: { $message }
