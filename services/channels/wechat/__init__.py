"""WeChat official account (part B): callback verification, plaintext and safe-mode XML, the mobile form page."""
