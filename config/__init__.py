"""Configuration as code: a declarative YAML file that `manage.py oncall apply` makes true."""
