"""Parts several processes use, each written once: a publicity window with objections, a
panel drawn at random with recusal and sealed votes, counted slots a case holds, and child
cases a parent waits on. Each block's ``__init__`` is pure (commands, facts, rules, forms);
its ``store`` module carries them out against the database and declares its ``PARTS``."""
