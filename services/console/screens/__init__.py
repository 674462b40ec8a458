"""The console's screens, one module per place of work (agent, case, department, work order, crew); issue 24 adds
the supervisor's, the duty manager's and leadership's beside them. Each route is thin: gate by role, read what the
screen shows through `views`, or turn a form into one call of a service's API, then render or redirect."""
