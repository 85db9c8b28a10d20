"""The weekly review: figures gathered in SQL, a workbook for the office, sent on a schedule."""
