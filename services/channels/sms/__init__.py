"""SMS replies: the uplink callbacks of the SMS vendors notify sends through (Tencent Cloud's 短信回复 callback,
Aliyun's SmsUp HTTP push), read in their documented formats and authenticated the one way they allow (a secret in
the callback URL), and what a reply means (`replies.classify`). Pure: no I/O."""
