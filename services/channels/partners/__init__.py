"""The 12345 and 95598 hotlines, outbound (part E): 签收, 退单, 延期, 办结 and 回访 pushed to the partner's API."""
