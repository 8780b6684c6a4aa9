"""flowfix codemods: one module per rewrite, each a `RuleCodemod` naming the rule it fixes."""
