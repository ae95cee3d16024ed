"""The contract between the engine and a process: specs, forms, rules and facts, effects,
and the package declaration with the catalogue built from it."""
