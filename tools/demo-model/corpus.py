"""Writes the demo model's training corpus: invented English and Chinese marketing copy.

Every document is an instruction line (the kind of prompt a `marketing-prompt` template
renders) followed by the copy it asks for, then GPT-2's <|endoftext|>:

    Write a short welcome email for Anna, a new customer in Berlin:
    Hi Anna,
    welcome to Northwind Coffee! ...
    <|endoftext|>

Some documents are bare copy (a product blurb, a subject line list) with no instruction, so
the model also continues a plain opening sentence. Everything is made from templates and
word lists below with a seeded PRNG: the same seed writes the same corpus.

    /usr/bin/python3 tools/demo-model/corpus.py --out tools/demo-model/build/corpus.txt
"""
import argparse
import json
import os
import random
import re

EOT = '<|endoftext|>'

# --------------------------------------------------------------------------------------------
# Shared facts: people, places, brands and products, in both languages.
# --------------------------------------------------------------------------------------------
EN_NAMES = ['Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Grace', 'Hannah', 'Isabel', 'Jonas',
            'Julia', 'Kevin', 'Laura', 'Lukas', 'Maria', 'Max', 'Mia', 'Noah', 'Olivia', 'Paul',
            'Sophie', 'Tom', 'Lena', 'Leon', 'Sarah', 'Daniel', 'Emily', 'James', 'Lucas', 'Chloe',
            'Marco', 'Elena', 'Pierre', 'Amelie', 'Oliver', 'Charlotte', 'Jack', 'Zoe', 'Liam', 'Nina',
            'Mr. Weber', 'Ms. Fischer', 'Mrs. Brown', 'Mr. Smith', 'Ms. Rossi', 'Mr. Dubois', 'Li Na',
            'Wang Fang', 'Chen Jie', 'Yuki', 'Priya', 'Ahmed', 'Sofia', 'Mateo', 'Ingrid', 'Lars']
EN_NAMES += ['Adam', 'Alice', 'Amy', 'Andrea', 'Anne', 'Alex', 'Bella', 'Carla', 'Carlos', 'Caroline', 'Chris',
             'Diana', 'Eva', 'Ella', 'Eric', 'Fatima', 'Finn', 'Frank', 'Georg', 'Hugo', 'Ida', 'Ivan', 'Jan',
             'Jana', 'Jessica', 'John', 'Karin', 'Katie', 'Klaus', 'Lisa', 'Louis', 'Lucy', 'Marie', 'Mark',
             'Martin', 'Matteo', 'Michael', 'Nora', 'Oscar', 'Peter', 'Petra', 'Rachel', 'Robert', 'Rosa',
             'Ruby', 'Sam', 'Simon', 'Stefan', 'Susan', 'Thomas', 'Tim', 'Valentina', 'Victor', 'Will',
             'Helen', 'Linda', 'Giulia', 'Hans', 'Heidi', 'Karl', 'Mona', 'Omar', 'Rania', 'Sven', 'Tara',
             'Aaron', 'Abigail', 'Agnes', 'Albert', 'Alina', 'Amir', 'Ana', 'Andreas', 'Anton', 'Astrid',
             'Beatrice', 'Bruno', 'Camille', 'Cecilia', 'Clemens', 'Dana', 'Dominik', 'Elias', 'Elif', 'Emil',
             'Erik', 'Esther', 'Fabian', 'Florian', 'Frida', 'Greta', 'Hanna', 'Henry', 'Irene', 'Jakob',
             'Jasmin', 'Johanna', 'Josef', 'Julian', 'Katarina', 'Leo', 'Lina', 'Luisa', 'Magnus', 'Malte',
             'Mara', 'Moritz', 'Nadia', 'Niklas', 'Nils', 'Paula', 'Philipp', 'Quentin', 'Rebecca', 'Sara',
             'Selin', 'Tobias', 'Ursula', 'Vera', 'Yara', 'Yusuf', 'Zara', 'Ethan', 'Mason', 'Ava',
             'Harper', 'Logan', 'Aria', 'Riley', 'Nora', 'Hazel', 'Ivy', 'Owen', 'Caleb', 'Isaac']
EN_CITIES = ['Berlin', 'Munich', 'Hamburg', 'Vienna', 'Zurich', 'Paris', 'Lyon', 'London', 'Manchester',
             'Dublin', 'Amsterdam', 'Brussels', 'Madrid', 'Barcelona', 'Lisbon', 'Rome', 'Milan',
             'Copenhagen', 'Stockholm', 'Oslo', 'Warsaw', 'Prague', 'New York', 'Boston', 'Chicago',
             'Toronto', 'Sydney', 'Singapore', 'Tokyo', 'Shanghai', 'Beijing', 'Hong Kong', 'Cologne',
             'Frankfurt', 'Leipzig', 'Dresden', 'Stuttgart', 'Edinburgh', 'Helsinki', 'Austin',
             'Bonn', 'Bremen', 'Hanover', 'Nuremberg', 'Graz', 'Salzburg', 'Basel', 'Geneva', 'Marseille',
             'Nice', 'Bristol', 'Leeds', 'Glasgow', 'Rotterdam', 'Antwerp', 'Valencia', 'Seville', 'Porto',
             'Naples', 'Turin', 'Florence', 'Gothenburg', 'Krakow', 'Budapest', 'Athens', 'Seattle',
             'San Francisco', 'Los Angeles', 'Vancouver', 'Montreal', 'Melbourne', 'Auckland', 'Seoul', 'Osaka']
ZH_NAMES = ['李娜', '王芳', '张伟', '刘洋', '陈静', '杨帆', '赵敏', '黄磊', '周婷', '吴昊', '徐丽',
            '孙悦', '马超', '朱琳', '胡杰', '郭蕾', '何欣', '林晨', '高远', '罗佳', '梁爽', '宋雨',
            '郑凯', '谢薇', '韩雪', '唐宁', '冯磊', '董洁', '程明', '曹颖', '王先生', '李女士',
            '张女士', '陈先生', '刘女士', '安娜', '本', '玛丽亚', '路卡斯', '艾玛']
ZH_SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'
ZH_GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华玲红鑫波宁斌浩凯婷欣悦晨雪琳颖佳梦思怡博宇轩涵萱子诗雨嘉瑞辉志鹏飞俊文晓丹阳亮健蕾倩雯慧'


def zh_random_name(r):
    given = ''.join(r.choice(ZH_GIVEN) for _ in range(r.choice([1, 2, 2])))
    return r.choice(ZH_SURNAMES) + given


ZH_CITIES = ['北京', '上海', '广州', '深圳', '杭州', '南京', '成都', '重庆', '武汉', '西安', '苏州',
             '天津', '长沙', '青岛', '厦门', '宁波', '昆明', '大连', '沈阳', '郑州', '合肥', '福州',
             '无锡', '济南', '柏林', '慕尼黑', '巴黎', '伦敦', '东京', '新加坡', '香港', '台北',
             '佛山', '东莞', '珠海', '南昌', '南宁', '贵阳', '太原', '石家庄', '哈尔滨', '长春', '兰州',
             '乌鲁木齐', '海口', '三亚', '温州', '绍兴', '常州', '烟台', '洛阳', '桂林', '拉萨', '澳门',
             '首尔', '纽约', '悉尼', '多伦多', '米兰', '维也纳', '汉堡', '法兰克福']

# Each brand sells a few products; each product has features and a category.
BRANDS = [
    {'en': 'Northwind Coffee', 'zh': '北风咖啡', 'products': [
        ('single-origin coffee beans', '单一产地咖啡豆', ['roasted fresh every week', 'sourced directly from small farms', 'with notes of chocolate and cherry'],
         ['每周新鲜烘焙', '直接来自小农庄', '带有巧克力和樱桃的风味']),
        ('cold brew kit', '冷萃咖啡套装', ['ready in twelve hours', 'smooth and low in acidity', 'perfect for summer mornings'],
         ['十二小时即可享用', '口感顺滑、酸度低', '适合夏日清晨']),
        ('coffee subscription', '咖啡订阅服务', ['delivered to your door every month', 'pause or cancel any time', 'a new origin every month'],
         ['每月送货上门', '随时暂停或取消', '每月一种新产地'])]},
    {'en': 'Lumen Skincare', 'zh': '光屿护肤', 'products': [
        ('vitamin C serum', '维C精华液', ['brightens dull skin in two weeks', 'made with natural ingredients', 'gentle enough for daily use'],
         ['两周提亮暗沉肌肤', '天然成分制成', '温和适合每天使用']),
        ('night cream', '晚霜', ['repairs your skin while you sleep', 'free from parabens', 'with hyaluronic acid'],
         ['在睡眠中修护肌肤', '不含防腐剂', '添加玻尿酸']),
        ('sunscreen SPF 50', 'SPF50防晒霜', ['light and non-greasy', 'water resistant for eighty minutes', 'safe for sensitive skin'],
         ['轻薄不油腻', '防水八十分钟', '敏感肌也能放心使用'])]},
    {'en': 'Bergblick Outdoor', 'zh': '山景户外', 'products': [
        ('hiking boots', '登山鞋', ['waterproof and breathable', 'built for long trails', 'with a lifetime repair service'],
         ['防水透气', '专为长途徒步打造', '提供终身维修服务']),
        ('rain jacket', '防雨夹克', ['packs into its own pocket', 'made from recycled fabric', 'keeps you dry in any weather'],
         ['可收纳进自身口袋', '采用再生面料', '任何天气都能保持干爽']),
        ('camping tent', '露营帐篷', ['sets up in five minutes', 'sleeps two people comfortably', 'weighs under two kilograms'],
         ['五分钟即可搭好', '可舒适容纳两人', '重量不到两公斤'])]},
    {'en': 'Urban Pantry', 'zh': '城市食仓', 'products': [
        ('organic meal box', '有机餐盒', ['with fresh seasonal vegetables', 'ready in twenty minutes', 'recipes from our own chefs'],
         ['搭配新鲜时令蔬菜', '二十分钟即可上桌', '由我们的厨师研发食谱']),
        ('olive oil', '橄榄油', ['cold pressed in small batches', 'from family farms in Greece', 'rich and fruity'],
         ['小批量冷压', '来自希腊的家庭农场', '口感醇厚果香浓郁']),
        ('snack box', '零食礼盒', ['full of healthy treats', 'no added sugar', 'a great gift for friends'],
         ['装满健康小零食', '不额外添加糖', '送朋友的好礼物'])]},
    {'en': 'PixelPeak', 'zh': '像素峰', 'products': [
        ('wireless headphones', '无线耳机', ['with active noise cancelling', 'forty hours of battery life', 'comfortable all day'],
         ['支持主动降噪', '续航长达四十小时', '全天佩戴都舒适']),
        ('smart watch', '智能手表', ['tracks your sleep and steps', 'water resistant to fifty meters', 'a week on one charge'],
         ['记录睡眠和步数', '五十米防水', '充一次电用一周']),
        ('portable speaker', '便携音箱', ['big sound in a small size', 'twelve hours of music', 'ready for the beach'],
         ['小身材大音量', '连续播放十二小时', '海边出游好伙伴'])]},
    {'en': 'Kite & Co', 'zh': '风筝家居', 'products': [
        ('linen bedding set', '亚麻床品套装', ['soft from the first night', 'breathable in summer and warm in winter', 'in six calm colours'],
         ['第一晚就很柔软', '夏天透气冬天保暖', '六种柔和颜色可选']),
        ('ceramic dinnerware', '陶瓷餐具', ['handmade by local artists', 'dishwasher safe', 'a set for four people'],
         ['由本地匠人手工制作', '可放入洗碗机', '四人套装']),
        ('scented candle', '香薰蜡烛', ['burns for fifty hours', 'made with soy wax', 'with a calming lavender scent'],
         ['可燃烧五十小时', '采用大豆蜡制作', '舒缓的薰衣草香气'])]},
    {'en': 'Greenleaf Tea', 'zh': '青叶茶社', 'products': [
        ('green tea collection', '绿茶礼盒', ['picked in early spring', 'fresh and gently sweet', 'six teas to discover'],
         ['早春采摘', '清新回甘', '六款好茶等你发现']),
        ('oolong tea', '乌龙茶', ['from the mountains of Fujian', 'roasted by hand', 'rich with a floral finish'],
         ['来自福建高山', '传统手工烘焙', '醇厚带花香']),
        ('tea set', '茶具套装', ['made from fine porcelain', 'a beautiful gift', 'for four cups of tea'],
         ['精选细瓷制作', '送礼体面', '一次可泡四杯'])]},
    {'en': 'FitFlow', 'zh': '乐动健身', 'products': [
        ('yoga mat', '瑜伽垫', ['non-slip on both sides', 'made from natural rubber', 'easy to roll and carry'],
         ['双面防滑', '天然橡胶制成', '方便卷起携带']),
        ('online fitness plan', '线上健身计划', ['with short daily workouts', 'made by certified coaches', 'for every fitness level'],
         ['每天短时训练', '由认证教练设计', '适合各种健身水平']),
        ('running shoes', '跑鞋', ['light and cushioned', 'made for city runs', 'with a grip you can trust'],
         ['轻盈有缓震', '专为城市跑步设计', '抓地力可靠'])]},
]

EN_SEASONS = ['spring', 'summer', 'autumn', 'winter', 'holiday season', 'new year', 'back-to-school season']
ZH_SEASONS = ['春季', '夏季', '秋季', '冬季', '节日季', '新年', '开学季', '双十一', '618', '中秋', '春节']
EN_DAYS = ['Sunday', 'Friday', 'the end of the month', 'midnight on Sunday', 'this weekend', 'next Monday', 'the 30th']
ZH_DAYS = ['本周日', '周五', '月底', '本周末', '下周一', '本月30日', '今晚十二点']
PERCENTS = [10, 15, 20, 25, 30, 40, 50]
ZH_DISCOUNTS = {10: '九折', 15: '八五折', 20: '八折', 25: '七五折', 30: '七折', 40: '六折', 50: '五折'}
CODES = ['WELCOME10', 'HELLO15', 'THANKYOU20', 'COMEBACK', 'SPRING25', 'SUMMER30', 'VIP20', 'FRIENDS15']


def en_people(r):
    return {'name': r.choice(EN_NAMES), 'city': r.choice(EN_CITIES)}


def zh_people(r):
    name = r.choice(ZH_NAMES) if r.random() < 0.5 else zh_random_name(r)
    return {'name': name, 'city': r.choice(ZH_CITIES)}


def facts(r):
    brand = r.choice(BRANDS)
    product = r.choice(brand['products'])
    percent = r.choice(PERCENTS)
    f_en = r.sample(product[2], 2)
    f_zh_idx = [product[2].index(x) for x in f_en]
    return {
        'brand': brand['en'], 'zh_brand': brand['zh'],
        'product': product[0], 'zh_product': product[1],
        'feature': f_en[0], 'feature2': f_en[1],
        'zh_feature': product[3][f_zh_idx[0]], 'zh_feature2': product[3][f_zh_idx[1]],
        'percent': percent, 'zh_discount': ZH_DISCOUNTS[percent],
        'code': r.choice(CODES),
        'season': r.choice(EN_SEASONS), 'zh_season': r.choice(ZH_SEASONS),
        'day': r.choice(EN_DAYS), 'zh_day': r.choice(ZH_DAYS),
        'orders': r.choice([3, 4, 5, 6, 8, 10, 12, 15, 20]),
        'months': r.choice([2, 3, 4, 5, 6, 8, 9, 12]),
        'hours': r.choice([24, 48, 72]),
        'points': r.choice([100, 200, 250, 500, 1000]),
    }


def fill(r, template, values):
    """A template is a string, or a list meaning 'pick one'; {slot} takes a value."""
    if isinstance(template, list):
        template = r.choice(template)
    return template.format(**values)


def some(r, pool, low, high, values):
    return [fill(r, t, values) for t in r.sample(pool, r.randint(low, min(high, len(pool))))]


# --------------------------------------------------------------------------------------------
# English copy
# --------------------------------------------------------------------------------------------
EN_GREETING = ['Hi {name},', 'Hello {name},', 'Dear {name},', 'Hey {name},', 'Good morning {name},']
EN_GENERIC_GREETING = ['Hello,', 'Hi there,', 'Dear customer,', 'Dear friends,', 'Hello from {brand},']
EN_SIGNOFF = ['Warm regards,\nThe {brand} team', 'Best wishes,\nThe {brand} team', 'See you soon,\nYour friends at {brand}',
              'Cheers,\nThe {brand} team', 'With thanks,\n{brand}', 'Talk soon,\nThe team at {brand}']

EN_TASKS = {
    'welcome': {
        'prompts': ['Write a short welcome email for {name}, a new customer in {city}:',
                    'Write a friendly welcome email to {name} from {city}, who just joined {brand}:',
                    'Write a welcome message for {name}, a new {brand} customer in {city}:',
                    'Welcome email for {name} ({city}), new customer:',
                    'Write a warm welcome email for our new customer {name} in {city}:',
                    'Write a short email welcoming {name} from {city} to {brand}:'],
        'open': ['welcome to {brand}! We are so happy to have you with us.',
                 'thank you for joining {brand}. It is great to welcome a new friend from {city}.',
                 'welcome aboard! Your {brand} account is ready and we are glad you are here.',
                 'a warm welcome from all of us at {brand}. We can\'t wait to show you what we make.',
                 'it\'s great to have you in the {brand} family, and hello to {city}!'],
        'body': ['Our {product}, {feature}, is a favourite of customers in {city}.',
                 'To say hello, here is {percent}% off your first order with the code {code}.',
                 'Your first delivery to {city} ships free of charge.',
                 'Take a look at our {product}: {feature} and {feature2}.',
                 'As a new member you collect points with every order, starting today.',
                 'If you have any question, just reply to this email and a real person will answer.',
                 'Every week we share tips, new products and member-only offers.',
                 'Many of our customers start with the {product}, {feature}.'],
        'cta': ['Start exploring now and enjoy your first order.', 'Use your code {code} before {day}.',
                'Visit our shop and find your favourite today.', 'Discover the {product} now.',
                'We look forward to your first order!'],
    },
    'loyal': {
        'prompts': ['Write a short thank-you email for {name}, a loyal customer in {city}:',
                    'Write a thank-you email to {name} in {city}, who has ordered {orders} times:',
                    'Write an email for {name}, one of our most loyal customers, with a VIP offer:',
                    'Thank-you email for loyal customer {name} ({city}):',
                    'Write a short loyalty reward email for {name} from {city}:'],
        'open': ['thank you for being such a loyal {brand} customer.',
                 'you have ordered from us {orders} times, and we are truly grateful.',
                 'customers like you are the reason we love what we do at {brand}.',
                 'a big thank you from the whole {brand} team for your trust.'],
        'body': ['As a thank-you, enjoy {percent}% off your next order with the code {code}.',
                 'You now have {points} bonus points waiting in your account.',
                 'As a VIP member you get early access to our new {product}, {feature}.',
                 'Your next delivery to {city} is on us.',
                 'We saved a small surprise for you in your next parcel.',
                 'You are invited to our members-only {season} preview.'],
        'cta': ['Treat yourself today.', 'Your reward is waiting in your account.',
                'Use your code {code} before {day}.', 'Enjoy your VIP benefits now.'],
    },
    'winback': {
        'prompts': ['Write a short win-back email for {name} in {city}, who has not ordered for {months} months:',
                    'Write an email to bring back {name}, an inactive customer in {city}:',
                    'Write a short "we miss you" email for {name} from {city}:',
                    'Win-back email for {name} ({city}), at-risk customer:',
                    'Write a friendly email for {name}, a customer at risk of leaving, with a special offer:'],
        'open': ['we miss you! It has been a while since your last visit to {brand}.',
                 'it has been {months} months since we last saw you, and a lot has changed.',
                 'we noticed you have not been around lately, and we would love to welcome you back.',
                 'your friends at {brand} have been thinking of you.'],
        'body': ['Come back and enjoy {percent}% off your next order with the code {code}.',
                 'Since your last visit we launched our new {product}, {feature}.',
                 'We have improved our service: faster delivery to {city} and free returns.',
                 'Your saved points are still waiting for you.',
                 'Tell us what we can do better, we read every reply.'],
        'cta': ['Your offer is valid until {day}.', 'Come back today and see what is new.',
                'We would love to see you again soon.', 'Use your code {code} before {day}.'],
    },
    'launch': {
        'prompts': ['Write a short product announcement for the new {product} from {brand}:',
                    'Write a launch email for our new {product}:',
                    'Announce the new {product} to our customers in {city}:',
                    'Write a product launch email to {name} about the {product}:'],
        'open': ['it\'s here: meet the new {product} from {brand}.',
                 'we have been working on something special, and today we can finally share it.',
                 'say hello to our new {product}.'],
        'body': ['What makes it special: {feature}, and {feature2}.', 'One thing you will love: {feature}.',
                 'We designed it for people who want quality without compromise.',
                 'Early customers get {percent}% off in the first week.',
                 'It is available now online and in our store in {city}.',
                 'Our customers told us what they wanted, and we listened.'],
        'cta': ['Order yours today.', 'Be among the first to try it.', 'Find out more on our website.',
                'Get it before {day} with {percent}% off.'],
    },
    'sale': {
        'prompts': ['Write a short email about our {season} sale with {percent}% off:',
                    'Write a discount email for {name} in {city}: {percent}% off until {day}:',
                    'Write a promotional email for the {brand} {season} sale:',
                    'Write an email announcing a {hours}-hour flash sale:'],
        'open': ['our {season} sale has started!', 'the {brand} {season} sale is here.',
                 'for {hours} hours only, everything is on sale.', 'good news: prices are down across the shop.'],
        'body': ['Save {percent}% on our {product}, {feature}.', 'Use the code {code} at checkout.',
                 'The offer ends at {day}, so don\'t wait too long.', 'Free delivery on every order to {city}.',
                 'Our best sellers are going fast.', 'Members get an extra gift with every order.'],
        'cta': ['Shop the sale now.', 'Don\'t miss out, the offer ends {day}.', 'Grab your favourites today.'],
    },
    'cart': {
        'prompts': ['Write a short reminder email for {name}, who left the {product} in the cart:',
                    'Write an abandoned cart email for {name} in {city}:',
                    'Remind {name} about the items in the shopping cart:'],
        'open': ['you left something in your cart.', 'your {product} is still waiting for you.',
                 'did something get in the way? Your cart is saved.'],
        'body': ['A reminder of why you chose it: {feature}.', 'We have saved your cart for the next {hours} hours.',
                 'Complete your order today and get {percent}% off with the code {code}.',
                 'Delivery to {city} is free this week.', 'Stock is limited, so don\'t wait too long.'],
        'cta': ['Complete your order now.', 'Return to your cart.', 'Check out in one click.'],
    },
    'birthday': {
        'prompts': ['Write a short birthday email for {name}:', 'Write a happy birthday message for our customer {name} in {city}:',
                    'Birthday email with a gift for {name}:'],
        'open': ['happy birthday from all of us at {brand}!', 'it\'s your special day, and we have a gift for you.',
                 'many happy returns, {name}!'],
        'body': ['Enjoy {percent}% off anything you like with the code {code}.', 'We added {points} bonus points to your account.',
                 'Treat yourself to our {product}, {feature}.', 'Your gift is valid for the whole month.'],
        'cta': ['Have a wonderful day!', 'Celebrate with us.', 'Enjoy your gift.'],
    },
    'event': {
        'prompts': ['Write an invitation email to {name} for our store event in {city}:',
                    'Invite customers in {city} to the {brand} {season} evening:',
                    'Write a short event invitation for {name}:'],
        'open': ['you are invited!', 'join us for a special evening at our store in {city}.',
                 'we are opening our doors for a {season} celebration.'],
        'body': ['Try our {product} and meet the people who make it.', 'There will be drinks, music and small surprises.',
                 'Guests get {percent}% off everything on the night.', 'Places are limited, so save yours today.'],
        'cta': ['Reply to this email to book your place.', 'We hope to see you there.', 'Register now, it\'s free.'],
    },
}


def en_email(r, task, v, greet_by_name):
    t = EN_TASKS[task]
    lines = [fill(r, EN_GREETING if greet_by_name else EN_GENERIC_GREETING, v)]
    opening = fill(r, t['open'], v)
    body = ' '.join([opening] + some(r, t['body'], 2, 3, v))
    # The greeting ends with a comma or an exclamation mark; the next line starts a sentence.
    body = body[0].upper() + body[1:]
    lines.append(body)
    lines.append(fill(r, t['cta'], v))
    lines.append(fill(r, EN_SIGNOFF, v))
    return '\n'.join(lines)


def en_subject_lines(r, v):
    pool = ['{percent}% off the {product}, only until {day}', 'Welcome to {brand}, {name}!', 'We miss you, {name}',
            'Your {season} treat is here', 'New: the {product}, {feature}', 'A gift for you inside',
            'Last chance: {percent}% off ends {day}', 'Thank you for {orders} orders!', '{name}, your cart is waiting',
            'Meet the new {product}', 'Free delivery to {city} this week', 'Just for you: code {code}']
    return '\n'.join(f'{i + 1}. {s}' for i, s in enumerate(some(r, pool, 3, 5, v)))


EN_PROMPT_SUBJECT = ['Write three subject lines for a {brand} campaign:', 'Subject lines for our {season} email:',
                     'Write catchy email subject lines for the {product}:']
EN_SOCIAL = {
    'prompts': ['Write a short social media post about the {product}:', 'Write an Instagram caption for {brand}:',
                'Write a tweet about our {season} sale:'],
    'body': ['Meet the {product}: {feature}.', '{percent}% off everything until {day}!', 'Made for {season} days.',
             'Now in our store in {city}.', 'Tag a friend who needs this.', 'Link in bio.', 'Which colour is your favourite?',
             'The {product}: {feature}, {feature2}.'],
}
EN_SMS = {
    'prompts': ['Write a short SMS for {name} about the sale:', 'Write a text message reminder for {name}:',
                'SMS for {name} in {city}:'],
    'body': ['Hi {name}, {percent}% off at {brand} until {day} with code {code}.', '{brand}: your {product} is waiting, order today and get free delivery.',
             'Hi {name}, thanks for being with us! Here is {percent}% off your next order: {code}.',
             '{brand}: flash sale, {hours} hours only. {percent}% off everything.'],
}
EN_BLURB = {
    'prompts': ['Write a product description for the {product} from {brand}:', 'Describe the {product} in two sentences:',
                'Write a short product description:'],
    'body': ['The {product} from {brand}: {feature}.', 'What our customers love most: {feature2}.',
             'A favourite of our customers in {city}.', 'Perfect for {season}.', 'Thoughtfully made and built to last.',
             'Order today and it ships within two days.', 'Designed for everyday life and made with care.'],
}


def en_document(r):
    v = {**facts(r), **en_people(r)}
    kind = r.random()
    if kind < 0.72:
        task = r.choice(list(EN_TASKS))
        template = r.choice(EN_TASKS[task]['prompts'])
        # Greet by name only when the instruction names someone: the name is copied from it.
        return fill(r, template, v) + '\n' + en_email(r, task, v, '{name}' in template)
    if kind < 0.78:
        return fill(r, EN_PROMPT_SUBJECT, v) + '\n' + en_subject_lines(r, v)
    if kind < 0.86:
        return fill(r, EN_SOCIAL['prompts'], v) + '\n' + ' '.join(some(r, EN_SOCIAL['body'], 2, 3, v))
    if kind < 0.92:
        return fill(r, EN_SMS['prompts'], v) + '\n' + fill(r, EN_SMS['body'], v)
    text = ' '.join(some(r, EN_BLURB['body'], 2, 4, v))
    # Half the blurbs have no instruction: plain copy for a plain opening.
    return (fill(r, EN_BLURB['prompts'], v) + '\n' + text) if r.random() < 0.5 else text


# --------------------------------------------------------------------------------------------
# Chinese copy
# --------------------------------------------------------------------------------------------
ZH_GREETING = ['亲爱的{name}：', '{name}，您好！', '尊敬的{name}：', 'Hi {name}，', '{name}你好！']
ZH_GENERIC_GREETING = ['您好！', '亲爱的顾客：', '各位朋友：', '亲爱的会员：']
ZH_SIGNOFF = ['{zh_brand}团队敬上', '祝好！\n{zh_brand}', '期待您的再次光临！\n{zh_brand}全体成员', '此致\n{zh_brand}']

ZH_TASKS = {
    'welcome': {
        'prompts': ['为{city}的新客户{name}写一封简短的欢迎邮件：', '给刚加入{zh_brand}的{name}（{city}）写一封欢迎邮件：',
                    '写一封欢迎新客户{name}的邮件：', '欢迎邮件，新客户{name}，{city}：', '请为{city}的新会员{name}写一段欢迎语：'],
        'open': ['欢迎加入{zh_brand}！很高兴认识您。', '感谢您注册{zh_brand}，我们非常高兴迎来来自{city}的新朋友。',
                 '您的{zh_brand}账户已经开通，欢迎您！', '{zh_brand}全体成员热烈欢迎您的到来。'],
        'body': ['我们的{zh_product}{zh_feature}，深受{city}顾客的喜爱。', '作为见面礼，首单使用优惠码{code}即可享受{zh_discount}优惠。',
                 '您的第一笔订单可免费配送到{city}。', '推荐您试试我们的{zh_product}：{zh_feature}，{zh_feature2}。',
                 '新会员从今天起每笔订单都能累积积分。', '如有任何问题，直接回复这封邮件，我们会尽快答复。',
                 '每周我们都会分享新品、实用小贴士和会员专享优惠。'],
        'cta': ['现在就去逛逛吧！', '优惠码{code}有效期至{zh_day}。', '期待您的第一笔订单！', '快来发现属于您的好物。'],
    },
    'loyal': {
        'prompts': ['为{city}的老客户{name}写一封简短的感谢邮件：', '给已经下单{orders}次的{name}写一封感谢信：',
                    '写一封会员回馈邮件给{name}：', '忠实客户{name}（{city}）的感谢邮件：'],
        'open': ['感谢您一直以来对{zh_brand}的支持！', '您已经在我们这里下单{orders}次，我们由衷地感谢您。',
                 '正是因为有您这样的老朋友，{zh_brand}才能不断进步。'],
        'body': ['为了表达谢意，下次购物使用优惠码{code}可享{zh_discount}。', '您的账户中已到账{points}积分。',
                 '作为VIP会员，您可以抢先体验我们的新品{zh_product}，{zh_feature}。', '您下一笔发往{city}的订单由我们承担运费。',
                 '我们在您的下一个包裹里准备了一份小惊喜。', '诚邀您参加会员专属的{zh_season}新品预览。'],
        'cta': ['快去犒劳一下自己吧！', '您的奖励已在账户中等您领取。', '优惠码{code}有效期至{zh_day}。'],
    },
    'winback': {
        'prompts': ['为{city}的{name}写一封简短的召回邮件，他已经{months}个月没有下单了：', '给很久没有光顾的客户{name}写一封邮件：',
                    '写一封“我们想念您”的邮件给{city}的{name}：', '流失风险客户{name}（{city}）的召回邮件：'],
        'open': ['好久不见，我们很想念您！', '距离您上次光临{zh_brand}已经{months}个月了，这段时间我们有了很多新变化。',
                 '最近没有看到您，我们非常希望您能回来看看。'],
        'body': ['回来看看吧，使用优惠码{code}即可享受{zh_discount}优惠。', '我们推出了全新的{zh_product}，{zh_feature}。',
                 '我们的服务也升级了：发往{city}的订单送得更快，还支持免费退货。', '您之前累积的积分仍然有效。',
                 '如果有什么地方让您不满意，欢迎告诉我们，每一条回复我们都会认真阅读。'],
        'cta': ['优惠有效期至{zh_day}。', '今天就回来看看有什么新品吧！', '期待很快再次见到您。'],
    },
    'launch': {
        'prompts': ['为{zh_brand}的新品{zh_product}写一段简短的上市公告：', '写一封新品{zh_product}的发布邮件：',
                    '向{city}的顾客介绍新品{zh_product}：'],
        'open': ['全新{zh_product}正式上市！', '我们精心准备了很久，今天终于可以和您分享。', '隆重介绍{zh_brand}的新品{zh_product}。'],
        'body': ['它{zh_feature}，而且{zh_feature2}。', '我们为追求品质的您而设计。', '上市首周下单可享{zh_discount}优惠。',
                 '现已在官网和{city}门店同步发售。', '我们认真倾听了顾客的建议，才有了这款产品。'],
        'cta': ['立即下单，抢先体验！', '了解更多请访问我们的官网。', '{zh_day}前购买享{zh_discount}。'],
    },
    'sale': {
        'prompts': ['写一封{zh_season}促销邮件，全场{zh_discount}：', '为{zh_brand}的{zh_season}大促写一段宣传文案：',
                    '给{city}的{name}写一封打折通知：', '写一封{hours}小时限时抢购的邮件：'],
        'open': ['{zh_season}大促正式开始啦！', '{zh_brand}{zh_season}特惠来了。', '限时{hours}小时，全场好物低价来袭！'],
        'body': ['{zh_product}限时{zh_discount}，{zh_feature}。', '结算时输入优惠码{code}即可。', '活动截止到{zh_day}，千万不要错过。',
                 '发往{city}的订单全部包邮。', '热销商品库存有限，先到先得。', '会员下单还有额外赠品。'],
        'cta': ['马上抢购吧！', '活动{zh_day}结束，抓紧时间！', '现在就去挑选您的心仪好物。'],
    },
    'cart': {
        'prompts': ['提醒{name}购物车里还有{zh_product}没有结算：', '给{city}的{name}写一封购物车提醒邮件：'],
        'open': ['您的购物车里还有商品没有结算哦。', '您挑选的{zh_product}还在等您。'],
        'body': ['{zh_product}{zh_feature}。', '我们会为您保留购物车{hours}小时。', '今天完成订单，使用优惠码{code}可享{zh_discount}。',
                 '本周发往{city}的订单免运费。', '库存有限，请尽快下单。'],
        'cta': ['立即完成订单。', '点击返回购物车。'],
    },
    'birthday': {
        'prompts': ['给客户{name}写一封生日祝福邮件：', '为{city}的{name}写一段生日祝福和优惠：'],
        'open': ['{zh_brand}祝您生日快乐！', '今天是您的特别日子，我们为您准备了一份礼物。'],
        'body': ['使用优惠码{code}，全场商品享{zh_discount}。', '我们已在您的账户中赠送{points}积分。',
                 '不妨用{zh_product}犒劳一下自己，{zh_feature}。', '生日礼遇整个月都有效。'],
        'cta': ['祝您度过美好的一天！', '和我们一起庆祝吧！'],
    },
    'event': {
        'prompts': ['邀请{name}参加我们在{city}门店的活动：', '为{zh_brand}的{zh_season}会员活动写一封邀请函：'],
        'open': ['诚挚邀请您参加我们的活动！', '我们将在{city}门店举办一场特别的{zh_season}之夜。'],
        'body': ['现场可以试用{zh_product}，还能见到产品背后的团队。', '现场有饮品、音乐和小惊喜。',
                 '到场嘉宾当晚全场享{zh_discount}。', '名额有限，请尽早预约。'],
        'cta': ['回复本邮件即可预约。', '期待与您相见。', '免费报名，欢迎参加。'],
    },
}


def zh_email(r, task, v, greet_by_name):
    t = ZH_TASKS[task]
    lines = [fill(r, ZH_GREETING if greet_by_name else ZH_GENERIC_GREETING, v)]
    lines.append(''.join([fill(r, t['open'], v)] + some(r, t['body'], 2, 3, v)))
    lines.append(fill(r, t['cta'], v))
    lines.append(fill(r, ZH_SIGNOFF, v))
    return '\n'.join(lines)


ZH_SOCIAL = {
    'prompts': ['为{zh_product}写一条朋友圈文案：', '写一条{zh_brand}的微博：', '写一条{zh_season}促销的社交媒体文案：'],
    'body': ['{zh_product}来啦，{zh_feature}！', '{zh_day}前全场{zh_discount}！', '{zh_season}必备好物。', '{city}门店现已到货。',
             '快@你的好朋友一起来看看吧。', '点击链接立即购买。', '{zh_feature2}，用过的都说好。'],
}
ZH_SMS = {
    'prompts': ['给{name}写一条促销短信：', '写一条提醒{name}的短信：'],
    'body': ['【{zh_brand}】{name}您好，{zh_day}前全场{zh_discount}，优惠码{code}。', '【{zh_brand}】您的{zh_product}还在购物车里，今天下单包邮。',
             '【{zh_brand}】感谢您的支持！下次购物享{zh_discount}，优惠码{code}。', '【{zh_brand}】限时{hours}小时，全场{zh_discount}，先到先得。'],
}
ZH_BLURB = {
    'prompts': ['为{zh_brand}的{zh_product}写一段产品介绍：', '用两句话介绍{zh_product}：'],
    'body': ['{zh_brand}{zh_product}{zh_feature}。', '{zh_feature2}，每天都能放心使用。', '深受{city}顾客喜爱。', '{zh_season}的理想之选。',
             '用心制作，经久耐用。', '今天下单，两天内发货。'],
}
ZH_SUBJECTS = ['{zh_product}限时{zh_discount}，{zh_day}截止', '欢迎加入{zh_brand}，{name}！', '{name}，我们想念您', '您的{zh_season}礼物到了',
               '新品上市：{zh_product}', '里面有一份给您的礼物', '最后机会：{zh_discount}优惠即将结束', '感谢您的{orders}次支持！',
               '{name}，您的购物车还在等您', '{city}本周免运费', '专属优惠码：{code}']


def zh_document(r):
    v = {**facts(r), **zh_people(r)}
    kind = r.random()
    if kind < 0.72:
        task = r.choice(list(ZH_TASKS))
        template = r.choice(ZH_TASKS[task]['prompts'])
        return fill(r, template, v) + '\n' + zh_email(r, task, v, '{name}' in template)
    if kind < 0.78:
        subjects = some(r, ZH_SUBJECTS, 3, 5, v)
        head = fill(r, ['为{zh_brand}的活动写几个邮件标题：', '写三个{zh_season}邮件标题：'], v)
        return head + '\n' + '\n'.join(f'{i + 1}. {s}' for i, s in enumerate(subjects))
    if kind < 0.86:
        return fill(r, ZH_SOCIAL['prompts'], v) + '\n' + ''.join(some(r, ZH_SOCIAL['body'], 2, 3, v))
    if kind < 0.92:
        return fill(r, ZH_SMS['prompts'], v) + '\n' + fill(r, ZH_SMS['body'], v)
    text = ''.join(some(r, ZH_BLURB['body'], 2, 4, v))
    return (fill(r, ZH_BLURB['prompts'], v) + '\n' + text) if r.random() < 0.5 else text


def generate(n_documents, seed, chinese_share=0.45):
    r = random.Random(seed)
    docs = []
    for _ in range(n_documents):
        doc = zh_document(r) if r.random() < chinese_share else en_document(r)
        docs.append(re.sub(r'[ \t]+\n', '\n', doc).strip())
    return docs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='corpus file: documents separated by <|endoftext|>')
    p.add_argument('--documents', type=int, default=8000)
    p.add_argument('--seed', type=int, default=2024)
    args = p.parse_args()
    docs = generate(args.documents, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(('\n' + EOT + '\n').join(docs) + '\n' + EOT + '\n')
    unique = len(set(docs))
    print(json.dumps({'documents': len(docs), 'unique': unique, 'characters': sum(map(len, docs))}))


if __name__ == '__main__':
    main()
