DROP TABLE provider_notice;
