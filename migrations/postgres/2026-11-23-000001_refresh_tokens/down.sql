DROP TABLE refresh_token;
