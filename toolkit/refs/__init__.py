"""Reference tests in the ClickHouse style: NAME.sql or NAME.sh beside NAME.reference, each run
in a fresh database and compared byte for byte."""
